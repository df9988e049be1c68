def settle(page): return None  # placeholder until ui-nuisance lands adapt.settle
