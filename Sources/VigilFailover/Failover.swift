// The failover protocol of US 6,119,244. (Being built; see specs/failover-wire.md.)
