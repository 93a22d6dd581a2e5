using System.CommandLine;
using Parley.Cli.Commands;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli;

/// <summary>
/// <c>parley</c>: the operator's command line. Server commands talk to the admin API (<c>--url</c>, <c>--token</c>,
/// or <c>PARLEY_URL</c>/<c>PARLEY_TOKEN</c>, or a config file); <c>restore</c> and <c>migrate</c> work on a data
/// directory with the server stopped. <c>--json</c> prints the server's JSON for scripts. Exit codes: 0 done, 1 refused
/// or failed, 2 usage or configuration, 3 <c>migrate --check</c> found pending migrations.
/// </summary>
public static class ParleyCli
{
    internal static readonly Option<string?> Url = new("--url") { Description = $"Admin API base URL, e.g. http://127.0.0.1:9090 (or {CliSettings.UrlVariable})", Recursive = true };
    internal static readonly Option<string?> Token = new("--token") { Description = $"Admin secret or operator token (or {CliSettings.TokenVariable}; prefer the variable: arguments show in ps)", Recursive = true };
    internal static readonly Option<string?> Config = new("--config") { Description = $"Config file with {{\"url\",\"token\"}} (or {CliSettings.ConfigVariable}; default ~/.config/parley/cli.json)", Recursive = true };
    internal static readonly Option<bool> Json = new("--json") { Description = "Print JSON (the server's answer) instead of tables", Recursive = true };

    public static async Task<int> RunAsync(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Piped or captured: no terminal width to fit, so tables and lines are not wrapped mid-id.
            AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 240;
        }

        var root = new RootCommand("parley — administer a Parley server: users, tokens, groups, directory, push, audit, backup and restore, migrations, per-user export and erasure.");
        root.Options.Add(Url);
        root.Options.Add(Token);
        root.Options.Add(Config);
        root.Options.Add(Json);
        root.Subcommands.Add(StatusCommands.Status());
        root.Subcommands.Add(UserCommands.Build());
        root.Subcommands.Add(TokenCommands.Build());
        root.Subcommands.Add(GroupCommands.Build());
        root.Subcommands.Add(OperatorCommands.Build());
        root.Subcommands.Add(DirectoryCommands.Build());
        root.Subcommands.Add(PushCommands.Build());
        root.Subcommands.Add(CampaignCommands.Build());
        root.Subcommands.Add(WebhookCommands.Build());
        root.Subcommands.Add(AuditCommands.Build());
        root.Subcommands.Add(DataCommands.Backup());
        root.Subcommands.Add(DataCommands.Restore());
        root.Subcommands.Add(DataCommands.Migrate());
        root.Subcommands.Add(DataCommands.Export());
        root.Subcommands.Add(SearchCommands.Optimize());
        return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Wraps a server command: resolves the settings, runs, and turns every failure into one line on stderr and an exit code.</summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Server(Func<ParseResult, AdminClient, Output, CancellationToken, Task<int>> run) =>
        (parse, cancellationToken) => Guard(async () =>
        {
            var settings = CliSettings.Resolve(parse.GetValue(Url), parse.GetValue(Token), parse.GetValue(Config));
            using var client = new AdminClient(settings);
            return await run(parse, client, new Output(parse.GetValue(Json)), cancellationToken).ConfigureAwait(false);
        });

    /// <summary>Wraps a local command (data directory): failures become one line on stderr and an exit code.</summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Local(Func<ParseResult, Output, CancellationToken, Task<int>> run) =>
        (parse, cancellationToken) => Guard(() => run(parse, new Output(parse.GetValue(Json)), cancellationToken));

    private static async Task<int> Guard(Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return 130;
        }
    }

    internal static void Done(Output output, string message)
    {
        if (!output.Json)
        {
            AnsiConsole.MarkupLine("[green]" + Markup.Escape(message) + "[/]");
        }
    }
}
