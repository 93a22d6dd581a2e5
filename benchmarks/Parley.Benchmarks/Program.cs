using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Parley.Benchmarks -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Parley.Benchmarks.FrameCodecBenchmarks).Assembly).Run(args);
