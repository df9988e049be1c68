# Placeholder until the UI-nuisance branch lands its real adapt.settle (banners, interstitials, re-sign-in).
def settle(page): return None  # noqa: E704
