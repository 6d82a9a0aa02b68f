namespace App.Bench.Flame;

/// <summary>Where a frame's code comes from, which gives it its colour in the flame graph.</summary>
internal enum FrameKind
{
    /// <summary>The synthetic root, the thread names under it, and the mark of a stack perf cut.</summary>
    Root,

    /// <summary>Our own code: the App.* assemblies.</summary>
    App,

    /// <summary>The .NET runtime and its class libraries (System.*, Microsoft.*), its native libraries and stubs.</summary>
    Dotnet,

    /// <summary>Other managed code: the NuGet packages the gateway uses (Npgsql, StackExchange.Redis, Polly, Serilog...).</summary>
    Managed,

    /// <summary>Native user-space code outside the runtime (libc and the like).</summary>
    Native,

    /// <summary>The Linux kernel (system calls, the network stack, the scheduler).</summary>
    Kernel,
}
