using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// The set-up of a compliance suite for a store whose tables come with the message store's schema: each test opens the
/// message store and the store under test over its own storage, and initialises the message store (which creates the
/// schema) before the first call.
/// </summary>
public abstract class MessageSchemaStoreComplianceTests<TStore> : IAsyncLifetime
    where TStore : class
{
    protected TStore Store { get; private set; } = null!;

    /// <summary>The message store (its initialisation creates the schema) and the store under test over this test's storage.</summary>
    protected abstract (IMessageStore Messages, TStore Store) OpenStores();

    public virtual async Task InitializeAsync()
    {
        var (messages, store) = OpenStores();
        await messages.InitializeAsync();
        Store = store;
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;
}
