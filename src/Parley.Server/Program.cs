using Parley.Hosting.Startup;

return await ParleyServerHost.RunAsync(args);
