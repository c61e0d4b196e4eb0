using Microsoft.Extensions.Logging;

namespace Membrane.Proxy.Listener;

/// <summary>
/// The logger factory given to Kestrel. Requests Kestrel rejects itself (smuggling attempts, bad syntax, limits) never
/// reach the proxy's application, only Kestrel's <c>BadRequests</c> log; this turns those entries into
/// <see cref="L7EventKind.ProtocolError"/> events for the connection. Everything else is dropped without formatting.
/// </summary>
internal sealed class KestrelEventLoggerFactory(Action<string, string> onBadRequest) : ILoggerFactory
{
    private const string BadRequestsCategory = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";

    private static readonly bool Debug = Environment.GetEnvironmentVariable("MEMBRANE_PROXY_DEBUG") == "1";

    public ILogger CreateLogger(string categoryName) =>
        categoryName == BadRequestsCategory ? new BadRequestLogger(onBadRequest) : Debug ? new StderrLogger(categoryName) : NullLogger.Instance;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class BadRequestLogger(Action<string, string> onBadRequest) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string? connectionId = null;
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                foreach (var f in fields)
                {
                    if (f.Key == "ConnectionId")
                    {
                        connectionId = f.Value as string;
                    }
                }
            }

            if (connectionId is not null && exception is not null)
            {
                onBadRequest(connectionId, exception.Message);
            }
        }
    }

    /// <summary>MEMBRANE_PROXY_DEBUG=1: Kestrel's own log on stderr (warnings and above), for diagnosing the proxy.</summary>
    private sealed class StderrLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Console.Error.WriteLine($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }

    private sealed class NullLogger : ILogger
    {
        public static readonly NullLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
