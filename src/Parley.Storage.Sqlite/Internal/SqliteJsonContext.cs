using System.Text.Json.Serialization;

namespace Parley.Storage.Sqlite.Internal;

[JsonSerializable(typeof(string[]))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
