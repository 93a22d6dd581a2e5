using Microsoft.Extensions.Options;
using Parley.Abstractions.Directory;
using Parley.Core.Directory;
using Parley.Protocol.V1;

namespace Parley.OrgDirectory;

/// <summary>Answers SyncDirectoryRequest: the whole directory, or what changed since the client's version.</summary>
public sealed class DirectoryService(IDirectoryStore store, IOptions<DirectoryOptions> options) : IDirectoryService
{
    public async Task<DirectoryDelta> SyncAsync(string userId, ulong version, CancellationToken cancellationToken = default)
    {
        if (options.Value.VisibleTo == DirectoryVisibility.DirectoryMembers
            && !await store.IsMemberAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            // Not visible: an empty directory, so the client drops whatever it may hold.
            return new DirectoryDelta { Version = 0, FullReset = true };
        }

        // A version beyond long.MaxValue cannot be ours: the store answers it with a full reset.
        var since = version > long.MaxValue ? long.MaxValue : (long)version;
        var changes = await store.GetChangesAsync(since, cancellationToken).ConfigureAwait(false);
        return ToDelta(changes);
    }

    internal static DirectoryDelta ToDelta(DirectoryChanges changes)
    {
        var delta = new DirectoryDelta { Version = (ulong)changes.Version, FullReset = changes.FullReset };
        foreach (var d in changes.Departments)
        {
            delta.Departments.Add(new Department { DepartmentId = d.DepartmentId, ParentId = d.ParentId, Name = d.Name, Order = d.Order, Ex = d.Ex });
        }

        delta.DeletedDepartmentIds.AddRange(changes.DeletedDepartmentIds);
        foreach (var m in changes.Members)
        {
            delta.Members.Add(new DepartmentMember
            {
                DepartmentId = m.DepartmentId,
                UserId = m.UserId,
                Position = m.Position,
                Order = m.Order,
                Email = m.Email,
                Phone = m.Phone,
                Ex = m.Ex,
            });
        }

        foreach (var k in changes.DeletedMembers)
        {
            delta.DeletedMembers.Add(new Protocol.V1.DepartmentMemberKey { DepartmentId = k.DepartmentId, UserId = k.UserId });
        }

        return delta;
    }
}
