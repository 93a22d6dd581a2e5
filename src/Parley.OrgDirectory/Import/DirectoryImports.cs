using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Directory;

namespace Parley.OrgDirectory.Import;

/// <summary>
/// Import jobs: parses a file on submission, then runs jobs one at a time in the background, in batches of
/// <see cref="DirectoryOptions.ImportBatchSize"/> rows (one transaction and at most one change event per batch).
/// </summary>
public sealed class DirectoryImports : BackgroundService
{
    private readonly DirectoryWriter _writer;
    private readonly IAccountStore _accounts;
    private readonly DirectoryOptions _options;
    private readonly ILogger<DirectoryImports> _logger;
    private readonly Channel<(DirectoryImportJob Job, ImportPlan Plan)> _queue =
        Channel.CreateUnbounded<(DirectoryImportJob, ImportPlan)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly ConcurrentDictionary<string, DirectoryImportJob> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _finished = new();

    public DirectoryImports(DirectoryWriter writer, IAccountStore accounts, IOptions<DirectoryOptions> options, ILogger<DirectoryImports> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _writer = writer;
        _accounts = accounts;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Parses <paramref name="content"/> and queues the job. Throws <see cref="DirectoryImportFormatException"/> for an unusable file.</summary>
    public DirectoryImportJob Submit(ReadOnlyMemory<byte> content, DirectoryImportFormat format, DirectoryImportKind kind, bool atomic)
    {
        var plan = DirectoryImportParser.Parse(content, format, kind);
        var job = new DirectoryImportJob(Guid.NewGuid().ToString("N"), plan.Total, atomic, _options.MaxImportErrors);
        _jobs[job.Id] = job;
        DirectoryLog.ImportQueued(_logger, job.Id, plan.Total, atomic);
        if (!_queue.Writer.TryWrite((job, plan)))
        {
            throw new InvalidOperationException("The import queue is closed (the server is stopping).");
        }

        return job;
    }

    public DirectoryImportJob? Get(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (job, plan) in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunAsync(job, plan, stoppingToken).ConfigureAwait(false);
                Forget(job);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: queued jobs are lost with the process; their status was never persisted either.
        }
    }

    internal async Task RunAsync(DirectoryImportJob job, ImportPlan plan, CancellationToken cancellationToken)
    {
        job.Start();
        job.AddErrors(plan.Errors);
        job.Advance(plan.Errors.Count, 0, 0);
        try
        {
            var state = job.Atomic
                ? await RunAtomicAsync(job, plan, cancellationToken).ConfigureAwait(false)
                : await RunBatchesAsync(job, plan, cancellationToken).ConfigureAwait(false);
            job.Finish(state);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            DirectoryLog.ImportCrashed(_logger, ex, job.Id);
            job.AddErrors([new DirectoryImportError(0, "The import stopped on an internal error; rows before it may have been applied.")]);
            job.Finish(DirectoryImportState.Failed);
        }

        var status = job.Snapshot();
        DirectoryLog.ImportFinished(_logger, job.Id, status.State, status.Applied, status.ErrorCount, status.Total);
    }

    private async Task<DirectoryImportState> RunBatchesAsync(DirectoryImportJob job, ImportPlan plan, CancellationToken cancellationToken)
    {
        foreach (var chunk in plan.Rows.Chunk(_options.ImportBatchSize))
        {
            var (valid, errors) = await CheckUsersAsync(chunk, cancellationToken).ConfigureAwait(false);
            var result = await _writer.ApplyAsync([.. valid.Select(r => r.Change)], atomic: false, cancellationToken).ConfigureAwait(false);
            var applied = 0;
            for (var i = 0; i < valid.Count; i++)
            {
                if (result.Results[i].Succeeded)
                {
                    applied++;
                }
                else
                {
                    errors.Add(new DirectoryImportError(valid[i].Line, result.Results[i].Message ?? result.Results[i].Error.ToString()));
                }
            }

            job.AddErrors(errors);
            job.Advance(chunk.Length, applied, result.RowsWritten > 0 ? result.Version : 0);
        }

        return DirectoryImportState.Completed;
    }

    private async Task<DirectoryImportState> RunAtomicAsync(DirectoryImportJob job, ImportPlan plan, CancellationToken cancellationToken)
    {
        if (plan.Errors.Count > 0)
        {
            return DirectoryImportState.Failed;
        }

        var (valid, errors) = await CheckUsersAsync(plan.Rows, cancellationToken).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            job.AddErrors(errors);
            return DirectoryImportState.Failed;
        }

        var result = await _writer.ApplyAsync([.. valid.Select(r => r.Change)], atomic: true, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < valid.Count; i++)
        {
            // NotApplied rows were fine themselves: report only the rows that caused the rollback.
            if (result.Results[i].Error is not DirectoryError.None and not DirectoryError.NotApplied)
            {
                errors.Add(new DirectoryImportError(valid[i].Line, result.Results[i].Message ?? result.Results[i].Error.ToString()));
            }
        }

        job.AddErrors(errors);
        if (errors.Count > 0)
        {
            return DirectoryImportState.Failed;
        }

        job.Advance(plan.Rows.Count, plan.Rows.Count, result.Version);
        return DirectoryImportState.Completed;
    }

    /// <summary>Splits rows into those whose user exists (or that name none) and errors for the others.</summary>
    private async Task<(List<ImportRow> Valid, List<DirectoryImportError> Errors)> CheckUsersAsync(IReadOnlyList<ImportRow> rows, CancellationToken cancellationToken)
    {
        var wanted = rows.Where(r => r.UserId is not null).Select(r => r.UserId!).Distinct(StringComparer.Ordinal).ToArray();
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in wanted.Chunk(1000))
        {
            foreach (var user in await _accounts.GetUsersAsync(chunk, cancellationToken).ConfigureAwait(false))
            {
                existing.Add(user.UserId);
            }
        }

        var valid = new List<ImportRow>(rows.Count);
        var errors = new List<DirectoryImportError>();
        foreach (var row in rows)
        {
            if (row.UserId is null || existing.Contains(row.UserId))
            {
                valid.Add(row);
            }
            else
            {
                errors.Add(new DirectoryImportError(row.Line, $"Unknown user '{row.UserId}'."));
            }
        }

        return (valid, errors);
    }

    private void Forget(DirectoryImportJob finished)
    {
        _finished.Enqueue(finished.Id);
        while (_finished.Count > _options.RetainedImportJobs && _finished.TryDequeue(out var old))
        {
            _jobs.TryRemove(old, out _);
        }
    }
}
