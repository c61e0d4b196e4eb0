namespace Membrane.Agent.Lab;

/// <summary>A lab could not be brought up or used; the message says why and where to look.</summary>
public sealed class LabException(string message) : Exception(message);
