"""Episodes and what they keep: the registry (`store`), each episode's ledger (`ledger`), the seeded
template databases new episodes are copied from (`templates`) and the reaper that finishes the
ones past their lifetime or idle (`reaper`)."""
