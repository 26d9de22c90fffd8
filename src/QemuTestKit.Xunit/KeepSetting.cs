using System.Reflection;

namespace QemuTestKit.Xunit;

/// <summary>
/// Decides once per test process whether VMs are kept after their class: <c>QEMUTESTKIT_KEEP</c> (<c>failed</c>,
/// <c>always</c>, <c>never</c>; <c>clean</c> removes the VMs earlier runs kept, then keeps none), else
/// <see cref="QemuKeepVmsAttribute"/> on the test assembly, else never.
/// </summary>
internal static class KeepSetting
{
    public const string EnvironmentVariable = "QEMUTESTKIT_KEEP";

    private static readonly SemaphoreSlim s_cleanGate = new(1, 1);
    private static bool s_cleaned;

    /// <summary>The setting for <paramref name="testAssembly"/>; <c>clean</c> removes earlier runs' kept VMs the first time.</summary>
    /// <exception cref="InvalidOperationException">The variable holds something else; the message lists the values.</exception>
    public static async Task<VmKeep> ResolveAsync(Assembly testAssembly, Action<string> progress, CancellationToken cancellationToken)
    {
        (VmKeep keep, bool clean) = Parse(
            Environment.GetEnvironmentVariable(EnvironmentVariable),
            testAssembly.GetCustomAttribute<QemuKeepVmsAttribute>()?.Keep ?? VmKeep.Never);
        if (clean)
        {
            await CleanOnceAsync(progress, cancellationToken).ConfigureAwait(false);
        }

        return keep;
    }

    /// <summary>The variable's value over the assembly's default; <c>clean</c> keeps nothing and asks for the clean-up.</summary>
    /// <exception cref="InvalidOperationException">The value is none of the settings; the message lists them.</exception>
    internal static (VmKeep Keep, bool Clean) Parse(string? value, VmKeep assemblyDefault) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => (assemblyDefault, false),
        "never" or "0" or "false" => (VmKeep.Never, false),
        "failed" => (VmKeep.Failed, false),
        "always" => (VmKeep.Always, false),
        "clean" => (VmKeep.Never, true),
        _ => throw new InvalidOperationException(
            $"{EnvironmentVariable}='{value}' is not a keep setting: use failed (keep the VM of a class with a failed test), "
            + "always, never, or clean (remove the VMs earlier runs kept)."),
    };

    /// <summary>
    /// Why a VM of <paramref name="profile"/> (<c>"runner": "container"</c>) is not kept under <paramref name="keep"/>,
    /// and what works instead.
    /// </summary>
    internal static string RefusedInContainer(VmKeep keep, string profile) =>
        $"{EnvironmentVariable}={keep.ToString().ToLowerInvariant()}: this VM is not kept, because it runs in a container "
        + $"(profile '{profile}' has \"runner\": \"container\"). The kit keeps only VMs it runs as local processes: a container "
        + "VM's container is removed with the class (a streams container also ends with the test process), so it is shut down "
        + "like any other VM. To look at a failed VM, run the class with a profile that has \"runner\": \"local\" (QEMU "
        + "installed on this host); that VM is kept.";

    private static async Task CleanOnceAsync(Action<string> progress, CancellationToken cancellationToken)
    {
        await s_cleanGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (s_cleaned)
            {
                return;
            }

            foreach (KeptVm vm in KeptVms.List())
            {
                // Asked before the removal: a folder whose QEMU is gone (or whose pid another process took) is only removed.
                bool running = vm.IsRunning;
                await KeptVms.RemoveAsync(vm, cancellationToken).ConfigureAwait(false);
                progress(running
                    ? $"stopped the VM {vm.Description} kept at {vm.KeptAtUtc:u} (QEMU pid {vm.Pid}) and removed {vm.Directory} ({EnvironmentVariable}=clean)"
                    : $"removed {vm.Directory}, the folder of the VM {vm.Description} kept at {vm.KeptAtUtc:u}, whose QEMU (pid {vm.Pid}) had already exited ({EnvironmentVariable}=clean)");
            }

            s_cleaned = true;
        }
        finally
        {
            s_cleanGate.Release();
        }
    }
}
