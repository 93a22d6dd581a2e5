using Parley.Abstractions.Directory;
using Parley.OrgDirectory.Import;

namespace Parley.OrgDirectory.Tests;

public sealed class DirectoryImportTests : IAsyncLifetime
{
    private DirectoryFixture _f = null!;

    public async Task InitializeAsync()
    {
        _f = await DirectoryFixture.CreateAsync(new DirectoryOptions { ImportBatchSize = 2 });
        await _f.AddUsersAsync("alice", "bob", "carol");
    }

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Json_ValidFile_AppliesEverythingParentsFirstWithOneEventPerBatch()
    {
        // The child comes before its parent in the file.
        const string Json = """
            {
              "departments": [
                {"departmentId": "eng-web", "parentId": "eng", "name": "Web", "order": 2},
                {"departmentId": "eng", "name": "Engineering", "order": 1, "ex": {"cost": "C1"}}
              ],
              "members": [
                {"departmentId": "eng", "userId": "alice", "position": "CTO", "email": "a@example.org"},
                {"departmentId": "eng-web", "userId": "alice", "position": "Lead"},
                {"departmentId": "eng-web", "userId": "bob", "order": 3, "phone": "+1 555"}
              ]
            }
            """;
        var status = await _f.ImportAsync(Json, DirectoryImportFormat.Json);

        Assert.Equal("completed", status.State);
        Assert.Equal(5, status.Total);
        Assert.Equal(5, status.Processed);
        Assert.Equal(5, status.Applied);
        Assert.Empty(status.Errors);
        Assert.Equal(5, status.Version);

        var all = await _f.Store.GetChangesAsync(0);
        Assert.Equal("""{"cost": "C1"}""", all.Departments.Single(d => d.DepartmentId == "eng").Ex);
        Assert.Equal("eng", all.Departments.Single(d => d.DepartmentId == "eng-web").ParentId);
        Assert.Equal(2, all.Members.Count(m => m.UserId == "alice"));

        // Batches of 2 rows: 3 batches, 3 events, carrying the version each batch reached.
        Assert.Equal([2UL, 4UL, 5UL], _f.Hub.Broadcasts.Select(f => f.DirectoryChanged.Version));

        // Importing the same file again changes nothing and publishes nothing.
        var again = await _f.ImportAsync(Json, DirectoryImportFormat.Json);
        Assert.Equal("completed", again.State);
        Assert.Equal(5, (await _f.Store.GetStateAsync()).Version);
        Assert.Equal(3, _f.Hub.Broadcasts.Count);
    }

    [Fact]
    public async Task Csv_WithKindColumn_ReportsBadLinesAndAppliesTheGoodOnes()
    {
        await _f.Writer.ApplyAsync([new SaveDepartment(new DepartmentRecord("root", "", "Root", 0, "{}"), DirectorySaveMode.Create)]);
        var csv = string.Join("\n",
            "kind,department_id,parent_id,name,order,user_id,position,email,phone,ex",   // 1
            "department,sales,root,\"Sales, EMEA\",1,,,,,",                              // 2 ok (quoted comma)
            "department,ghost,nowhere,Ghost,0,,,,,",                                     // 3 unknown parent
            "department,sales,root,Again,0,,,,,",                                        // 4 duplicate id
            "department,loop1,loop2,L1,0,,,,,",                                          // 5 cycle in file
            "department,loop2,loop1,L2,0,,,,,",                                          // 6 cycle in file
            "department,bad,root,Bad,notanumber,,,,,",                                   // 7 bad order
            "member,sales,,,0,alice,\"Head of\nSales\",a@example.org,,",                 // 8-9 ok (quoted newline)
            "member,sales,,,0,mallory,Spy,,,",                                           // 10 unknown user
            "member,ghost,,,0,bob,,,,",                                                  // 11 unknown department
            "member,sales,,,0,carol,,,,\"{\"\"desk\"\":7}\"",                            // 12 ok (JSON ex)
            "widget,x,,,,,,,,",                                                          // 13 bad kind
            "");
        var status = await _f.ImportAsync(csv, DirectoryImportFormat.Csv);

        Assert.Equal("completed", status.State);
        Assert.Equal(11, status.Total);
        Assert.Equal(11, status.Processed);
        Assert.Equal(3, status.Applied);
        Assert.Equal([3, 4, 5, 6, 7, 10, 11, 13], status.Errors.Select(e => e.Line));
        Assert.Contains("nowhere", status.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("line 2", status.Errors[1].Message, StringComparison.Ordinal);
        Assert.Contains("cycle", status.Errors[2].Message, StringComparison.Ordinal);
        Assert.Contains("mallory", status.Errors[5].Message, StringComparison.Ordinal);

        var all = await _f.Store.GetChangesAsync(0);
        Assert.Equal("Sales, EMEA", all.Departments.Single(d => d.DepartmentId == "sales").Name);
        Assert.Equal("Head of\nSales", all.Members.Single(m => m.UserId == "alice").Position);
        Assert.Equal("""{"desk":7}""", all.Members.Single(m => m.UserId == "carol").Ex);
        Assert.Equal(["root", "sales"], all.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Csv_SeparateFiles_KindFromHeaderOrQuery()
    {
        var departments = await _f.ImportAsync("department_id,parent_id,name\r\nhq,,HQ\r\nops,hq,Ops\r\n", DirectoryImportFormat.Csv);
        Assert.Equal(2, departments.Applied);

        // Inferred from the user_id column.
        var members = await _f.ImportAsync("departmentId,userId,position\nops,bob,Operator\n", DirectoryImportFormat.Csv);
        Assert.Equal(1, members.Applied);

        // No user column: only the query's kind says these are members; user_id missing is a per-line error.
        var forced = await _f.ImportAsync("department_id,position\nops,Nobody\n", DirectoryImportFormat.Csv, kind: DirectoryImportKind.Members);
        Assert.Equal(0, forced.Applied);
        Assert.Equal(2, Assert.Single(forced.Errors).Line);
    }

    [Fact]
    public async Task Atomic_OneBadLine_AppliesNothing()
    {
        const string Json = """
            {"departments": [{"departmentId": "a", "name": "A"}, {"departmentId": "b", "parentId": "a", "name": "B"}],
             "members": [{"departmentId": "a", "userId": "alice"}, {"departmentId": "b", "userId": "nobody"}]}
            """;
        var status = await _f.ImportAsync(Json, DirectoryImportFormat.Json, atomic: true);
        Assert.Equal("failed", status.State);
        Assert.Equal(0, status.Applied);
        Assert.Equal(4, status.Processed);
        var error = Assert.Single(status.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains("nobody", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await _f.Store.GetStateAsync()).Version);
        Assert.Empty(_f.Hub.Broadcasts);

        // A store-level refusal (unknown parent) also rolls back, across batch-size boundaries.
        var storeLevel = await _f.ImportAsync(
            """{"departments": [{"departmentId": "a", "name": "A"}, {"departmentId": "b", "name": "B"}, {"departmentId": "c", "parentId": "zz", "name": "C"}]}""",
            DirectoryImportFormat.Json,
            atomic: true);
        Assert.Equal("failed", storeLevel.State);
        Assert.Equal(1, Assert.Single(storeLevel.Errors).Line);
        Assert.Equal(0, (await _f.Store.GetStateAsync()).Version);

        var good = await _f.ImportAsync(Json.Replace("nobody", "bob", StringComparison.Ordinal), DirectoryImportFormat.Json, atomic: true);
        Assert.Equal("completed", good.State);
        Assert.Equal(4, good.Applied);
        Assert.Single(_f.Hub.Broadcasts);
    }

    [Fact]
    public void Parse_UnusableFile_Throws()
    {
        Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse("{\"departments\": [ {\"departmentId\": }"u8.ToArray(), DirectoryImportFormat.Json, DirectoryImportKind.Auto));
        Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse("[1,2]"u8.ToArray(), DirectoryImportFormat.Json, DirectoryImportKind.Auto));
        Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse("department_id,colour\nx,red\n"u8.ToArray(), DirectoryImportFormat.Csv, DirectoryImportKind.Auto));
        Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse(""u8.ToArray(), DirectoryImportFormat.Csv, DirectoryImportKind.Auto));

        // Not UTF-8 (found by DirectoryImportFuzzTests: the JSON reader threw a non-JSON exception, a 500).
        var json = Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse((byte[])[.. "{\"departments\": [\n{\"name\": \""u8, 0xC3, 0x28, .. "\"}]}"u8], DirectoryImportFormat.Json, DirectoryImportKind.Auto));
        Assert.Contains("UTF-8 (line 2)", json.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryImportFormatException>(() => DirectoryImportParser.Parse((byte[])[.. "department_id,name\nx,"u8, 0xFF], DirectoryImportFormat.Csv, DirectoryImportKind.Auto));
    }
}
