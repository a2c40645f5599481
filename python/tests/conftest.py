from hypothesis import settings

# Examples are generated afresh each run and nothing is written to the worktree (.hypothesis/).
settings.register_profile("buildnet", database=None, print_blob=True)
settings.load_profile("buildnet")
