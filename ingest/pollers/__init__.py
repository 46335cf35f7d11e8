"""The poller: runs the inventory's pollings on their schedules and publishes what it measured.

One module per probe (ping, snmp, tcp, http, dns, tls), a pure schedule, and the service that ties them to
Kafka. The poller judges nothing: states and thresholds are the processors' business.
"""
