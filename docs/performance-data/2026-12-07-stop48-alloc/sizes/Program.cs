// sizes <bin dir>: exact heap bytes (stop 47, alloc; stop 48: SendRequest, the search text's fields), loaded from the given build:
//  - one instance of a few Parley types (allocated bytes around GetUninitializedObject; 0 for a value type: inline);
//  - a 1:1 activation's member table: ConversationGrain._members' type as the grain's constructor makes it, with two
//    members added (the allocated bytes of the construction and the two adds);
//  - the one-way send's ack: MessageAck (when a class) + CoreResult<MessageAck>.
using System.Reflection;
using System.Runtime.CompilerServices;
var dir = args[0];
AppDomain.CurrentDomain.AssemblyResolve += (_, e) => { var p = Path.Combine(dir, new AssemblyName(e.Name).Name + ".dll"); return File.Exists(p) ? Assembly.LoadFrom(p) : null; };
var core = Assembly.LoadFrom(Path.Combine(dir, "Parley.Core.dll"));
var abs = Assembly.LoadFrom(Path.Combine(dir, "Parley.Abstractions.dll"));
var proto = Assembly.LoadFrom(Path.Combine(dir, "Parley.Protocol.dll"));
long Size(Type t) { if (t.IsValueType) return 0; RuntimeHelpers.GetUninitializedObject(t); var a = GC.GetAllocatedBytesForCurrentThread(); RuntimeHelpers.GetUninitializedObject(t); return GC.GetAllocatedBytesForCurrentThread() - a; }
Type T(string name) => core.GetType(name) ?? abs.GetType(name) ?? proto.GetType(name) ?? throw new Exception(name);
foreach (var name in new[] { "Parley.Core.Messaging.ConversationGrain+MessageWork", "Parley.Core.Messaging.SendCommand", "Parley.Core.Messaging.MessageAck", "Parley.Abstractions.Messaging.StoredMessage", "Parley.Core.Messaging.ConversationGrain+MemberState", "Parley.Core.Messaging.ConversationGrain", "Parley.Core.Messaging.SendDedup", "Parley.Protocol.V1.ClientFrame", "Parley.Protocol.V1.SendRequest", "Parley.Protocol.V1.Target", "Parley.Protocol.V1.Content", "Parley.Protocol.V1.TextContent" })
{
    Console.WriteLine($"{name}: {Size(T(name))} B{(T(name).IsValueType ? " (a value type: inline)" : "")}");
}

var ack = T("Parley.Core.Messaging.MessageAck");
var result = core.GetType("Parley.Core.CoreResult`1")!.MakeGenericType(ack);
Console.WriteLine($"CoreResult<MessageAck>: {Size(result)} B; a one-way send's ack (MessageAck + CoreResult<MessageAck>): {Size(ack) + Size(result)} B");

// The grain's member table with two members, as a 1:1 activation makes it.
var grain = T("Parley.Core.Messaging.ConversationGrain");
var membersField = grain.GetField("_members", BindingFlags.NonPublic | BindingFlags.Instance)!;
var tableType = membersField.FieldType;
var state = T("Parley.Core.Messaging.ConversationGrain+MemberState");
var s1 = RuntimeHelpers.GetUninitializedObject(state);
var s2 = RuntimeHelpers.GetUninitializedObject(state);
object NewTable() => tableType.GetConstructor(Type.EmptyTypes) is { } empty ? empty.Invoke(null) : Activator.CreateInstance(tableType, StringComparer.Ordinal)!;
var indexer = tableType.GetProperty("Item")!;
var setter = indexer.SetMethod!;
// Warm the reflection paths, then measure the table's own allocation (the invoke's argument arrays measured apart).
var warm = NewTable(); setter.Invoke(warm, ["x", s1]); setter.Invoke(warm, ["y", s2]);
object?[] a1 = ["a", s1], a2 = ["b", s2];
var before = GC.GetAllocatedBytesForCurrentThread();
var reflection = GC.GetAllocatedBytesForCurrentThread() - before; // 0
before = GC.GetAllocatedBytesForCurrentThread();
var t = NewTable();
// The construction allocates the table's object only (a dictionary's buckets and entries come with its first add); the
// reflection's own allocations (Activator's argument arrays) are not the table's: its object's size instead.
var made = Size(tableType);
before = GC.GetAllocatedBytesForCurrentThread();
setter.Invoke(t, a1); setter.Invoke(t, a2);
var added = GC.GetAllocatedBytesForCurrentThread() - before;
// The invoke itself allocates nothing for reference arguments; measured on a table that already has the keys.
before = GC.GetAllocatedBytesForCurrentThread();
setter.Invoke(t, a1); setter.Invoke(t, a2);
var overwrite = GC.GetAllocatedBytesForCurrentThread() - before;
Console.WriteLine($"member table ({tableType.Name}) with two members: {made} B made + {added - overwrite} B on the two adds = {made + added - overwrite} B per 1:1 activation");
