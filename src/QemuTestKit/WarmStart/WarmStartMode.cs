namespace QemuTestKit;

/// <summary>How <c>WarmStartCache.LaunchAsync</c> brought a machine to ready.</summary>
public enum WarmStartMode
{
    /// <summary>Booted cold and nothing was saved: warm start is off for the profile, or a restore failed (see <see cref="WarmStartResult.Warning"/>).</summary>
    Cold,

    /// <summary>Booted cold, then its state was saved to the cache for later machines of the profile; it runs on from there.</summary>
    Saved,

    /// <summary>Restored from the saved state (<c>-incoming</c>): no boot; the guest continues from the moment the state was saved.</summary>
    Restored,
}
