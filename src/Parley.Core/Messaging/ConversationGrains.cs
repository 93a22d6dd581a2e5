namespace Parley.Core.Messaging;

/// <summary>
/// Conversation grain references without the per-call interface resolution. <c>GetGrain&lt;T&gt;(string)</c> resolves
/// the grain interface type by reflection (custom attributes, type-name formatting) on every call: 12 % of the bytes
/// allocated per 1:1 message and 4 % of its CPU (docs/performance.md, issue 17). The grain and interface types are fixed
/// per process, so they are resolved once and each reference is built from them.
/// </summary>
public static class ConversationGrains
{
    private static GrainTypes? s_types;

    /// <summary>The reference of conversation <paramref name="conversationId"/>'s grain.</summary>
    public static IConversationGrain Conversation(this IGrainFactory grains, string conversationId)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var types = s_types;
        if (types is null)
        {
            var first = grains.GetGrain<IConversationGrain>(conversationId);
            s_types = new GrainTypes(first.GetGrainId().Type, ((GrainReference)first).InterfaceType);
            return first;
        }

        return (IConversationGrain)grains.GetGrain(GrainId.Create(types.Type, conversationId), types.Interface);
    }

    private sealed record GrainTypes(GrainType Type, GrainInterfaceType Interface);
}
