"""Loopback fakes of the outside services MAP bot talks to (CRMs), strict where a
guarantee depends on how the real one answers: they record every call and answer
as the vendors document (auth, unknown records and fields, rate limits)."""
