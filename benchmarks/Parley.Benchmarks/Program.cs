using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Parley.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project benchmarks/Parley.Benchmarks -- search-latency|commit-cost [options] (SearchLatency)
// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll search-server --server <Parley.Server.dll> [options] (SearchServerBench)
if (args.Length > 0 && args[0] is "search-server")
{
    return await Parley.Benchmarks.SearchServerBench.RunAsync(args[1..]);
}

// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll search-store-check --messages 100000 --dir D (SearchServerBench.CheckAsync)
if (args.Length > 0 && args[0] is "search-store-check")
{
    return await Parley.Benchmarks.SearchServerBench.CheckAsync(args[1..]);
}

// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll search-postgres --postgres CONNECTION --database D --messages N [--queries Q] [--build-only true] [--drop true] (SearchServerBench.RunPostgresAsync)
if (args.Length > 0 && args[0] is "search-postgres")
{
    return await Parley.Benchmarks.SearchServerBench.RunPostgresAsync(args[1..]);
}

if (args.Length > 0 && args[0] is "search-latency" or "commit-cost")
{
    return await Parley.Benchmarks.SearchLatency.RunAsync(args[0], args[1..]);
}

// dotnet run -c Release --project benchmarks/Parley.Benchmarks -- member-storage --members N [--chunk 1000] [--dir D | --postgres CONNECTION [--schema S] [--keep] [--compact [--reindex]]] (MemberStorage)
if (args.Length > 0 && args[0] == "member-storage")
{
    return await Parley.Benchmarks.MemberStorage.RunAsync(args[1..]);
}

// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll super-store --members N --dir D [--kind channel|super] [--prefix P] [--group G] [--chunk 1000]
// (SuperGroupStore: a data directory the server opens, one read-diffusion group of N members and their accounts built through the store)
if (args.Length > 0 && args[0] == "super-store")
{
    return await Parley.Benchmarks.SuperGroupStore.RunAsync(args[1..]);
}

// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll activation-io [options] (ActivationIoBench)
if (args.Length > 0 && args[0] == "activation-io")
{
    return await Parley.Benchmarks.ActivationIoBench.RunAsync(args[1..]);
}

// dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll store-io [options] (StoreIoBench)
if (args.Length > 0 && args[0] == "store-io")
{
    return await Parley.Benchmarks.StoreIoBench.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Parley.Benchmarks.FrameCodecBenchmarks).Assembly).Run(args);
return 0;
