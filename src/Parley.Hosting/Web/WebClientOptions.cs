namespace Parley.Hosting.Web;

/// <summary>
/// Serving of the built web clients (the chat at <c>/</c>, the admin console at <c>/admin</c>), bound to
/// <c>Parley:Web</c>. The build copies each client's <c>dist/</c> to <c>spa/{name}/</c> beside the server and writes
/// <c>spa/spas.json</c> (name and mount path of every client, see Parley.Server.csproj).
/// </summary>
public sealed class WebClientOptions
{
    public const string Section = "Parley:Web";

    /// <summary>Serve the web clients at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Folder holding <c>spas.json</c> and one sub-folder per client; relative to the server's base directory.</summary>
    public string Root { get; set; } = "spa";
}
