using Microsoft.Extensions.Options;
using Parley.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddParleyServer();

var app = builder.Build();
app.MapParley();
try
{
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("Parley cannot start: " + string.Join(" ", ex.Failures));
    return 2;
}
