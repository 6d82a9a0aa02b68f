using App.Application.OpenAi;

namespace App.Application.Jobs;

public static class JobJson
{
    public static readonly JobJsonContext Wire = new(OpenAiJson.Options());
}
