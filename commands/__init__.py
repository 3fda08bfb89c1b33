"""Commands that write to the event store directly, one module per aggregate: the service
catalogue (``catalogue``), agencies' calendars and maklumat (``agencies``), application
numbers (``numbering``). The API and the activities use the same ones; a refusal is a
``domain.refusals`` kind."""
