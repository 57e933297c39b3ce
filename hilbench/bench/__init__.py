"""A bench in use: its session of drivers, the strategy that moves it, interlocks, pools and labgrid places."""
