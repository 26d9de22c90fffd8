using System.Text.Json;
using QemuTestKit.Qga;

namespace QemuTestKit.Tests.Qga;

/// <summary>The agent's guest-file-* commands over a dictionary, for <see cref="FakeQgaAgent.ServeAsync"/>; counts the blocks.</summary>
internal sealed class InMemoryGuestFiles
{
    private readonly Dictionary<string, MemoryStream> _files = [];
    private readonly Dictionary<long, MemoryStream> _handles = [];
    private long _nextHandle = 1000;

    public bool FailReads { get; init; }

    public int Writes { get; private set; }

    public int Reads { get; private set; }

    public int Closes { get; private set; }

    public IReadOnlyCollection<long> OpenHandles => _handles.Keys;

    public void Put(string path, byte[] content) => _files[path] = new MemoryStream(content);

    public byte[] Content(string path) => _files[path].ToArray();

    public string Answer(string command, JsonElement arguments)
    {
        switch (command)
        {
            case "guest-file-open":
            {
                string path = arguments.GetProperty("path").GetString()!;
                string mode = arguments.GetProperty("mode").GetString()!;
                if (mode == "w")
                {
                    _files[path] = new MemoryStream();
                }
                else if (!_files.ContainsKey(path))
                {
                    throw new QgaCommandException(command, "GenericError", $"failed to open file '{path}'", default);
                }

                MemoryStream file = _files[path];
                file.Position = 0;
                long handle = _nextHandle++;
                _handles[handle] = file;
                return handle.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            case "guest-file-write":
            {
                Writes++;
                byte[] data = arguments.GetProperty("buf-b64").GetBytesFromBase64();
                _handles[arguments.GetProperty("handle").GetInt64()].Write(data);
                return $$"""{"count": {{data.Length}}, "eof": false}""";
            }

            case "guest-file-read":
            {
                Reads++;
                if (FailReads)
                {
                    throw new QgaCommandException(command, "GenericError", "failed to read file: Input/output error", default);
                }

                MemoryStream file = _handles[arguments.GetProperty("handle").GetInt64()];
                byte[] block = new byte[arguments.GetProperty("count").GetInt32()];
                int read = file.Read(block);
                return $$"""{"count": {{read}}, "buf-b64": "{{Convert.ToBase64String(block, 0, read)}}", "eof": {{(file.Position == file.Length ? "true" : "false")}}}""";
            }

            case "guest-file-close":
                Closes++;
                _handles.Remove(arguments.GetProperty("handle").GetInt64());
                return "{}";
            default:
                throw new QgaCommandException(command, "CommandNotFound", $"The command {command} has not been found", default);
        }
    }
}
