"""SNMP for every stage that speaks it: named credentials, one session (poller and executor), value text."""
