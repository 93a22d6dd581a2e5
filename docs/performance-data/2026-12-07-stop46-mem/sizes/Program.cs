// sizes <bin dir>: the exact heap bytes of one instance of a few Parley types (allocated bytes around GetUninitializedObject),
// and of one entry of the send dedup's dictionary (an array of 1,000 entries / 1,000), loaded from the given build.
using System.Reflection;
using System.Runtime.CompilerServices;
var dir = args[0];
AppDomain.CurrentDomain.AssemblyResolve += (_, e) => { var p = Path.Combine(dir, new AssemblyName(e.Name).Name + ".dll"); return File.Exists(p) ? Assembly.LoadFrom(p) : null; };
var core = Assembly.LoadFrom(Path.Combine(dir, "Parley.Core.dll"));
long Size(Type t) { RuntimeHelpers.GetUninitializedObject(t); var a = GC.GetAllocatedBytesForCurrentThread(); RuntimeHelpers.GetUninitializedObject(t); return GC.GetAllocatedBytesForCurrentThread() - a; }
foreach (var name in new[] { "Parley.Core.Messaging.ConversationGrain+MessageWork", "Parley.Core.Messaging.ConversationGrain+GroupParts", "Parley.Core.Messaging.SendCommand", "Parley.Core.Messaging.MessageAck", "Parley.Abstractions.Messaging.StoredMessage" })
{
    var t = core.GetType(name) ?? Type.GetType(name + ", Parley.Abstractions");
    if (t is null) { var abs = Assembly.LoadFrom(Path.Combine(dir, "Parley.Abstractions.dll")); t = abs.GetType(name); }
    Console.WriteLine(t is null ? $"{name}: (none)" : $"{name}: {Size(t)} B");
}
var dedup = core.GetType("Parley.Core.Messaging.SendDedup")!;
var field = dedup.GetField("_sends", BindingFlags.NonPublic | BindingFlags.Instance)!;
var dictType = field.FieldType; // Dictionary<(string,string), Outcome>
var d = Activator.CreateInstance(dictType, 1000)!;
var a0 = GC.GetAllocatedBytesForCurrentThread();
var d2 = Activator.CreateInstance(dictType, 10007)!;
var a1 = GC.GetAllocatedBytesForCurrentThread();
Console.WriteLine($"SendDedup dictionary, per capacity slot (entry + bucket): {(a1 - a0) / 10007.0:F1} B");
