namespace Parley.OrgDirectory.Import;

/// <summary>Where an import job is.</summary>
public enum DirectoryImportState
{
    Queued,
    Running,

    /// <summary>Finished; rows listed in the errors were refused, all others applied.</summary>
    Completed,

    /// <summary>An atomic import refused (nothing applied), or the job crashed.</summary>
    Failed,
}

/// <summary>The progress report of an import job (the body of GET /admin/v1/directory/imports/{id}).</summary>
/// <param name="Version">The directory version after the job's last committed batch (0 when it committed nothing).</param>
/// <param name="ErrorCount">All errors, including those beyond the kept <paramref name="Errors"/>.</param>
public sealed record DirectoryImportStatus(
    string Id,
    string State,
    bool Atomic,
    int Processed,
    int Total,
    int Applied,
    long Version,
    int ErrorCount,
    IReadOnlyList<DirectoryImportError> Errors);

/// <summary>A running or finished import. Updated by the import worker, read by status queries.</summary>
public sealed class DirectoryImportJob
{
    private readonly object _gate = new();
    private readonly List<DirectoryImportError> _errors = [];
    private readonly int _maxErrors;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DirectoryImportState _state = DirectoryImportState.Queued;
    private int _processed;
    private int _applied;
    private int _errorCount;
    private long _version;

    internal DirectoryImportJob(string id, int total, bool atomic, int maxErrors)
    {
        Id = id;
        Total = total;
        Atomic = atomic;
        _maxErrors = maxErrors;
    }

    public string Id { get; }

    public int Total { get; }

    public bool Atomic { get; }

    /// <summary>Completes when the job reached Completed or Failed.</summary>
    public Task Completion => _completion.Task;

    public DirectoryImportState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public DirectoryImportStatus Snapshot()
    {
        lock (_gate)
        {
            return new DirectoryImportStatus(
                Id, _state.ToString().ToLowerInvariant(), Atomic, _processed, Total, _applied, _version, _errorCount, [.. _errors]);
        }
    }

    internal void Start()
    {
        lock (_gate)
        {
            _state = DirectoryImportState.Running;
        }
    }

    internal void AddErrors(IEnumerable<DirectoryImportError> errors)
    {
        lock (_gate)
        {
            foreach (var error in errors)
            {
                _errorCount++;
                if (_errors.Count < _maxErrors)
                {
                    _errors.Add(error);
                }
            }
        }
    }

    internal void Advance(int processed, int applied, long version)
    {
        lock (_gate)
        {
            _processed += processed;
            _applied += applied;
            _version = Math.Max(_version, version);
        }
    }

    internal void Finish(DirectoryImportState state)
    {
        lock (_gate)
        {
            _state = state;
            _processed = Total;
            _errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        }

        _completion.TrySetResult();
    }
}
