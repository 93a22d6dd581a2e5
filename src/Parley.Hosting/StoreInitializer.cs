using Microsoft.Extensions.Hosting;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;

namespace Parley.Hosting;

/// <summary>Migrates and verifies the stores before anything else starts (registered first).</summary>
internal sealed class StoreInitializer(IMessageStore messages, IAccountStore accounts) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await messages.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await accounts.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
