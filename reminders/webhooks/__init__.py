"""Signed webhooks (Standard Webhooks): what a plan event looks like on the wire
(`events`), where it may go (`address`), how it is sent (`sender`) and the
outbox kind that sends it (`delivery`)."""
