using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Parley.Abstractions.Directory;
using Parley.Protocol;

namespace Parley.OrgDirectory.Import;

/// <summary>What an import file holds.</summary>
public enum DirectoryImportFormat
{
    Json,
    Csv,
}

/// <summary>For a CSV file without a <c>kind</c> column: what its rows are.</summary>
public enum DirectoryImportKind
{
    /// <summary>Inferred from the header: a <c>user_id</c> column means members.</summary>
    Auto,
    Departments,
    Members,
}

/// <summary>One row to apply, with the line it came from.</summary>
/// <param name="UserId">For member rows: the user that must exist.</param>
internal sealed record ImportRow(int Line, DirectoryChange Change, string? UserId);

/// <summary>A per-line error. Line 0 concerns the whole file.</summary>
public sealed record DirectoryImportError(int Line, string Message);

/// <summary>A parsed file: rows in apply order (departments parents-first, then members) and the lines refused already.</summary>
internal sealed record ImportPlan(IReadOnlyList<ImportRow> Rows, IReadOnlyList<DirectoryImportError> Errors)
{
    public int Total => Rows.Count + Errors.Count;
}

/// <summary>The whole file is unusable (syntax error, no header): the request fails, no job is started.</summary>
public sealed class DirectoryImportFormatException(string message) : Exception(message);

/// <summary>Parses JSON and CSV import files into validated rows and per-line errors.</summary>
internal static class DirectoryImportParser
{
    internal const int MaxNameLength = 128;
    internal const int MaxPositionLength = 128;
    internal const int MaxEmailLength = 254;
    internal const int MaxPhoneLength = 64;
    internal const int MaxExBytes = 4096;

    public static ImportPlan Parse(ReadOnlyMemory<byte> content, DirectoryImportFormat format, DirectoryImportKind kind)
    {
        var bytes = content.Span;
        if (bytes.StartsWith("\uFEFF"u8))
        {
            content = content[3..];
        }

        // Checked once for the whole file: System.Text.Json throws a non-JSON exception on a string that is not UTF-8,
        // and a CSV decoded with replacement characters would store mojibake (found by DirectoryImportFuzzTests).
        if (!Utf8.IsValid(content.Span))
        {
            throw new DirectoryImportFormatException($"The import is not valid UTF-8 (line {FirstInvalidUtf8Line(content.Span)}).");
        }

        var builder = new PlanBuilder();
        if (format == DirectoryImportFormat.Json)
        {
            ParseJson(content, builder);
        }
        else
        {
            ParseCsv(Encoding.UTF8.GetString(content.Span), kind, builder);
        }

        return builder.Build();
    }

    private static int FirstInvalidUtf8Line(ReadOnlySpan<byte> content)
    {
        var line = 1;
        while (!content.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(content, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return line;
            }

            line += rune.Value == '\n' ? 1 : 0;
            content = content[consumed..];
        }

        return line;
    }

    // ---- JSON: {"departments":[{...}], "members":[{...}]} ----

    private static void ParseJson(ReadOnlyMemory<byte> content, PlanBuilder builder)
    {
        var lines = new LineIndex(content.Span);
        var reader = new Utf8JsonReader(content.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new DirectoryImportFormatException("The JSON import must be an object: {\"departments\": [...], \"members\": [...]}.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                var isDepartments = string.Equals(property, "departments", StringComparison.OrdinalIgnoreCase);
                var isMembers = string.Equals(property, "members", StringComparison.OrdinalIgnoreCase);
                if (!isDepartments && !isMembers)
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new DirectoryImportFormatException($"\"{property}\" must be an array (line {lines.LineOf(reader.TokenStartIndex)}).");
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var line = lines.LineOf(reader.TokenStartIndex);
                    using var item = JsonDocument.ParseValue(ref reader);
                    if (item.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        builder.Error(line, "Expected an object.");
                        continue;
                    }

                    var fields = new JsonFields(item.RootElement);
                    if (isDepartments)
                    {
                        builder.Department(line, fields);
                    }
                    else
                    {
                        builder.Member(line, fields);
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            throw new DirectoryImportFormatException($"Invalid JSON at line {(ex.LineNumber ?? 0) + 1}: {ex.Message}");
        }
    }

    private sealed class JsonFields(JsonElement element) : IFields
    {
        public string? Get(string name, out string? error)
        {
            error = null;
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (name == "ex")
            {
                return value.GetRawText();
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    return value.GetString();
                case JsonValueKind.Number:
                    return value.GetRawText();
                default:
                    error = $"{name} must be a string or a number.";
                    return null;
            }
        }
    }

    // ---- CSV (RFC 4180) with a header row ----

    private static void ParseCsv(string text, DirectoryImportKind kind, PlanBuilder builder)
    {
        using var records = ReadCsv(text).GetEnumerator();
        if (!records.MoveNext())
        {
            throw new DirectoryImportFormatException("The CSV import is empty; the first line must be a header.");
        }

        var header = records.Current.Fields.Select(NormalizeColumn).ToArray();
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < header.Length; i++)
        {
            if (!KnownColumns.Contains(header[i]))
            {
                throw new DirectoryImportFormatException($"Unknown CSV column '{records.Current.Fields[i]}'. Known: kind, department_id, parent_id, name, order, ex, user_id, position, email, phone.");
            }

            if (!columns.TryAdd(header[i], i))
            {
                throw new DirectoryImportFormatException($"CSV column '{records.Current.Fields[i]}' appears twice.");
            }
        }

        var hasKind = columns.ContainsKey("kind");
        var fileIsMembers = kind == DirectoryImportKind.Members || (kind == DirectoryImportKind.Auto && columns.ContainsKey("userid"));
        while (records.MoveNext())
        {
            var (line, fields) = records.Current;
            if (fields.All(string.IsNullOrWhiteSpace))
            {
                continue;
            }

            var row = new CsvFields(columns, fields);
            var isMembers = fileIsMembers;
            if (hasKind)
            {
                var k = (row.Get("kind", out _) ?? string.Empty).Trim().ToUpperInvariant();
                switch (k)
                {
                    case "DEPARTMENT" or "DEPARTMENTS" or "DEPT":
                        isMembers = false;
                        break;
                    case "MEMBER" or "MEMBERS":
                        isMembers = true;
                        break;
                    default:
                        builder.Error(line, "kind must be 'department' or 'member'.");
                        continue;
                }
            }

            if (isMembers)
            {
                builder.Member(line, row);
            }
            else
            {
                builder.Department(line, row);
            }
        }
    }

    private static readonly HashSet<string> KnownColumns = ["kind", "departmentid", "parentid", "name", "order", "ex", "userid", "position", "email", "phone"];

    private static string NormalizeColumn(string name) =>
        new(name.Trim().Where(c => c is not ('_' or '-' or ' ')).Select(char.ToLowerInvariant).ToArray());

    private sealed class CsvFields(Dictionary<string, int> columns, List<string> fields) : IFields
    {
        public string? Get(string name, out string? error)
        {
            error = null;
            var key = name.Replace("Id", "id", StringComparison.Ordinal).ToLowerInvariant();
            return columns.TryGetValue(key, out var i) && i < fields.Count && fields[i].Length > 0 ? fields[i] : null;
        }
    }

    /// <summary>Records with the line each starts on. Quoted fields may hold commas, quotes ("") and line breaks.</summary>
    internal static IEnumerable<(int Line, List<string> Fields)> ReadCsv(string text)
    {
        var line = 1;
        var i = 0;
        while (i < text.Length)
        {
            var start = line;
            var fields = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            var endOfRecord = false;
            while (i < text.Length && !endOfRecord)
            {
                var c = text[i];
                if (quoted)
                {
                    if (c == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        quoted = false;
                    }
                    else
                    {
                        if (c == '\n')
                        {
                            line++;
                        }

                        field.Append(c);
                    }

                    i++;
                    continue;
                }

                switch (c)
                {
                    case '"' when field.Length == 0:
                        quoted = true;
                        break;
                    case ',':
                        fields.Add(field.ToString());
                        field.Clear();
                        break;
                    case '\r':
                        break;
                    case '\n':
                        line++;
                        endOfRecord = true;
                        break;
                    default:
                        field.Append(c);
                        break;
                }

                i++;
            }

            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }

    // ---- shared validation ----

    private interface IFields
    {
        string? Get(string name, out string? error);
    }

    private sealed class PlanBuilder
    {
        private readonly List<DirectoryImportError> _errors = [];
        private readonly List<(int Line, DepartmentRecord Department)> _departments = [];
        private readonly Dictionary<string, int> _departmentLines = new(StringComparer.Ordinal);
        private readonly List<ImportRow> _members = [];
        private readonly Dictionary<(string, string), int> _memberLines = [];

        public void Error(int line, string message) => _errors.Add(new DirectoryImportError(line, message));

        public void Department(int line, IFields fields)
        {
            var problems = new List<string>();
            var id = Text(fields, "departmentId", problems);
            var parent = Text(fields, "parentId", problems) ?? string.Empty;
            var name = Text(fields, "name", problems);
            var order = Int(fields, "order", problems);
            var ex = Ex(fields, problems);
            if (!Ids.IsValid(id))
            {
                problems.Add("departmentId must be 1..64 characters of [A-Za-z0-9-._@:].");
            }

            if (parent.Length > 0 && !Ids.IsValid(parent))
            {
                problems.Add("parentId must be empty or a valid department id.");
            }

            if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength)
            {
                problems.Add($"name is required, at most {MaxNameLength} characters.");
            }

            if (problems.Count == 0 && _departmentLines.TryGetValue(id!, out var first))
            {
                problems.Add($"Duplicate department id '{id}' (first on line {first}).");
            }

            if (problems.Count > 0)
            {
                Error(line, string.Join(" ", problems));
                return;
            }

            _departmentLines[id!] = line;
            _departments.Add((line, new DepartmentRecord(id!, parent, name!, order, ex)));
        }

        public void Member(int line, IFields fields)
        {
            var problems = new List<string>();
            var department = Text(fields, "departmentId", problems);
            var user = Text(fields, "userId", problems);
            var position = Text(fields, "position", problems) ?? string.Empty;
            var order = Int(fields, "order", problems);
            var email = Text(fields, "email", problems) ?? string.Empty;
            var phone = Text(fields, "phone", problems) ?? string.Empty;
            var ex = Ex(fields, problems);
            if (!Ids.IsValid(department))
            {
                problems.Add("departmentId must be a valid department id.");
            }

            if (!Ids.IsValid(user))
            {
                problems.Add("userId must be a valid user id.");
            }

            if (position.Length > MaxPositionLength || email.Length > MaxEmailLength || phone.Length > MaxPhoneLength)
            {
                problems.Add($"position, email and phone are limited to {MaxPositionLength}, {MaxEmailLength} and {MaxPhoneLength} characters.");
            }

            if (problems.Count == 0 && _memberLines.TryGetValue((department!, user!), out var first))
            {
                problems.Add($"Duplicate member '{user}' of department '{department}' (first on line {first}).");
            }

            if (problems.Count > 0)
            {
                Error(line, string.Join(" ", problems));
                return;
            }

            _memberLines[(department!, user!)] = line;
            var record = new DepartmentMemberRecord(department!, user!, position, order, email, phone, ex);
            _members.Add(new ImportRow(line, new SaveMember(record, DirectorySaveMode.Upsert), user));
        }

        public ImportPlan Build()
        {
            var rows = new List<ImportRow>(_departments.Count + _members.Count);
            rows.AddRange(OrderParentsFirst());
            rows.AddRange(_members);
            return new ImportPlan(rows, _errors);
        }

        /// <summary>
        /// Departments whose parent is in the same file come after it, whatever the file order; departments on a
        /// cycle inside the file are refused (their descendants then fail on the missing parent).
        /// </summary>
        private List<ImportRow> OrderParentsFirst()
        {
            var byId = _departments.ToDictionary(d => d.Department.DepartmentId, StringComparer.Ordinal);
            var emitted = new HashSet<string>(StringComparer.Ordinal);
            var refused = new HashSet<string>(StringComparer.Ordinal);
            var ordered = new List<ImportRow>(_departments.Count);
            foreach (var (_, department) in _departments)
            {
                // Walk up through parents in the file that are not placed yet.
                var path = new List<string>();
                var onPath = new HashSet<string>(StringComparer.Ordinal);
                var id = department.DepartmentId;
                while (!emitted.Contains(id) && !refused.Contains(id) && byId.ContainsKey(id) && onPath.Add(id))
                {
                    path.Add(id);
                    id = byId[id].Department.ParentId;
                }

                var cycleStart = onPath.Contains(id) && !emitted.Contains(id) && !refused.Contains(id) ? path.IndexOf(id) : -1;
                for (var i = path.Count - 1; i >= 0; i--)
                {
                    var (line, record) = byId[path[i]];
                    if (cycleStart >= 0 && i >= cycleStart)
                    {
                        refused.Add(record.DepartmentId);
                        Error(line, $"Department '{record.DepartmentId}' is on a parent cycle within the file.");
                        continue;
                    }

                    emitted.Add(record.DepartmentId);
                    ordered.Add(new ImportRow(line, new SaveDepartment(record, DirectorySaveMode.Upsert), null));
                }
            }

            return ordered;
        }

        private static string? Text(IFields fields, string name, List<string> problems)
        {
            var value = fields.Get(name, out var error);
            if (error is not null)
            {
                problems.Add(error);
            }

            return value?.Trim();
        }

        private static int Int(IFields fields, string name, List<string> problems)
        {
            var value = Text(fields, name, problems);
            if (string.IsNullOrEmpty(value))
            {
                return 0;
            }

            if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result))
            {
                return result;
            }

            problems.Add($"{name} must be an integer.");
            return 0;
        }

        private static string Ex(IFields fields, List<string> problems)
        {
            var value = fields.Get("ex", out _);
            if (string.IsNullOrWhiteSpace(value))
            {
                return "{}";
            }

            if (Encoding.UTF8.GetByteCount(value) > MaxExBytes)
            {
                problems.Add($"ex must be at most {MaxExBytes} bytes of JSON.");
                return "{}";
            }

            try
            {
                using var doc = JsonDocument.Parse(value);
                return doc.RootElement.GetRawText();
            }
            catch (JsonException)
            {
                problems.Add("ex must be JSON.");
                return "{}";
            }
        }
    }

    /// <summary>Maps byte offsets to 1-based line numbers.</summary>
    private readonly struct LineIndex
    {
        private readonly List<long> _newlines;

        public LineIndex(ReadOnlySpan<byte> content)
        {
            _newlines = [];
            for (var i = 0; i < content.Length; i++)
            {
                if (content[i] == (byte)'\n')
                {
                    _newlines.Add(i);
                }
            }
        }

        public int LineOf(long offset)
        {
            var index = _newlines.BinarySearch(offset);
            return (index < 0 ? ~index : index) + 1;
        }
    }
}
