namespace Membrane.Proxy.Http;

/// <summary>Outcome of one call to a pure HTTP parser.</summary>
internal enum ParseStatus
{
    /// <summary>The input ends before the element does; nothing was decided.</summary>
    NeedMoreData,

    /// <summary>The element was parsed.</summary>
    Complete,

    /// <summary>The input is malformed or exceeds a limit; the connection must not be reused.</summary>
    Rejected,
}
