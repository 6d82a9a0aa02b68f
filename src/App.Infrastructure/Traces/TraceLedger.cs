using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace App.Infrastructure.Traces;

/// <summary>
/// A small file (<c>Traces:LedgerPath</c>) where the writer notes, every <see cref="Interval"/>, how many accepted
/// traces wait in its queue and how many it is writing, and at a graceful stop that none are left. Read at the next
/// start: a run that ended without that last note (a crash, SIGKILL, the OOM killer) lost the waiting ones, and
/// perhaps the batch being written (PostgreSQL may have committed it), so the loss a crash causes is counted instead
/// of guessed. What arrived in the last interval before the crash is not in the note.
/// </summary>
internal sealed class TraceLedger : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private const int Size = 24;
    private const uint Magic = 0x314C5254; // "TRL1"
    private readonly SafeFileHandle _file;
    private readonly byte[] _record = new byte[Size];
    private readonly Lock _lock = new();
    private bool _stopped;

    private TraceLedger(SafeFileHandle file, (long Waiting, long Writing)? lostBefore)
    {
        _file = file;
        LostBefore = lostBefore;
    }

    /// <summary>
    /// When the previous run ended without a graceful stop: the traces that waited in its queue (lost) and those it was
    /// writing (lost unless PostgreSQL committed them), as last noted; otherwise null.
    /// </summary>
    public (long Waiting, long Writing)? LostBefore { get; }

    /// <summary>Opens (or creates) the ledger at <paramref name="path"/> and reads what the previous run left in it.</summary>
    public static TraceLedger Open(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var previous = new byte[Size];
        var read = RandomAccess.Read(file, previous, 0);
        (long, long)? lost = read == Size && BinaryPrimitives.ReadUInt32LittleEndian(previous) == Magic && previous[4] == 0
            ? (BinaryPrimitives.ReadInt64LittleEndian(previous.AsSpan(8)), BinaryPrimitives.ReadInt64LittleEndian(previous.AsSpan(16)))
            : null;
        var ledger = new TraceLedger(file, lost);
        ledger.Note(waiting: 0, writing: 0, stopped: false);
        return ledger;
    }

    /// <summary>
    /// Notes the traces waiting and being written, or that the writer stopped with none left. One write of a few bytes
    /// to the page cache: a crash of the process does not lose it, only one of the machine would.
    /// </summary>
    public void Note(long waiting, long writing, bool stopped)
    {
        lock (_lock)
        {
            // After the note of a graceful stop, a late periodic note must not undo it.
            if (_stopped)
            {
                return;
            }

            _stopped = stopped;
            BinaryPrimitives.WriteUInt32LittleEndian(_record, Magic);
            _record[4] = stopped ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt64LittleEndian(_record.AsSpan(8), waiting);
            BinaryPrimitives.WriteInt64LittleEndian(_record.AsSpan(16), writing);
            RandomAccess.Write(_file, _record, 0);
        }
    }

    public void Dispose() => _file.Dispose();
}
