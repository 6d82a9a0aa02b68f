using System.Collections.Concurrent;

namespace App.Api.Hosting;

/// <summary>
/// Hands out one logger per category, as the framework's own LoggerFactory does, because Serilog's factory makes a
/// new logger on every call and the framework asks for one on every request (each authentication handler is created
/// per request and creates its logger); docs/benchmarks-history.md has what that cost.
/// </summary>
internal sealed class CachingLoggerFactory(ILoggerFactory inner, bool ownsInner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, inner.CreateLogger);

    public void AddProvider(ILoggerProvider provider)
    {
        inner.AddProvider(provider);
        _loggers.Clear();
    }

    public void Dispose()
    {
        if (ownsInner)
        {
            inner.Dispose();
        }
    }

    /// <summary>Wraps the <see cref="ILoggerFactory"/> registered so far (Serilog's) in this cache.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("No ILoggerFactory is registered to cache.");
        services.Remove(registered);
        // The container disposed what it created before, and still does; an instance given to it stays its owner's.
        services.AddSingleton<ILoggerFactory>(provider => registered switch
        {
            { ImplementationInstance: ILoggerFactory instance } => new CachingLoggerFactory(instance, ownsInner: false),
            { ImplementationFactory: { } factory } => new CachingLoggerFactory((ILoggerFactory)factory(provider), ownsInner: true),
            { ImplementationType: { } type } => new CachingLoggerFactory((ILoggerFactory)ActivatorUtilities.CreateInstance(provider, type), ownsInner: true),
            _ => throw new InvalidOperationException("The registered ILoggerFactory cannot be created."),
        });
    }
}
