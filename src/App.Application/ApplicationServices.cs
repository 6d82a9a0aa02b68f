using App.Application.Caching;
using App.Application.Embeddings;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.Identity;
using App.Application.Jobs;
using App.Application.Prompts;
using App.Application.Routing;
using App.Application.Rum;
using App.Application.Semantic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.Application;

/// <summary>What the service does and the options it reads, registered here so the host adds them with one line.</summary>
public static class ApplicationServices
{
    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CacheOptions>, CacheOptionsValidator>();
        services.AddSingleton<ChatGateway>();
        services.AddSingleton<ChatCalls>();
        services.AddOptions<EmbeddingOptions>().BindConfiguration(EmbeddingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EmbeddingOptions>, EmbeddingOptionsValidator>();
        services.AddSingleton<EmbeddingGateway>();
        services.AddSingleton<EmbeddingCalls>();
        services.AddOptions<SemanticCacheOptions>().BindConfiguration(SemanticCacheOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SemanticCacheOptions>, SemanticCacheOptionsValidator>();
        services.AddSingleton<ISemanticCache, SemanticChatCache>();
        services.AddOptions<GuardOptions>().BindConfiguration(GuardOptions.Section).ValidateOnStart();
        services.AddSingleton<GuardPolicy>();
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PromptOptions>, PromptOptionsValidator>();
        services.AddSingleton<PromptRunner>();
        services.AddOptions<JobOptions>().BindConfiguration(JobOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<JobOptions>, JobOptionsValidator>();
        services.AddSingleton<JobRunner>();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<RumOptions>().BindConfiguration(RumOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RumOptions>, RumOptionsValidator>();
        return services;
    }
}
