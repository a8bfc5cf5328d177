"""Command-line interface (composition root).

Each module in this package registers one verb or one group of verbs by defining
``register(subparsers)``; :mod:`millicent.cli.main` discovers them, so adding a verb never
touches a shared file. Heavy imports (torch, boto3, aiohttp) happen inside the command
functions, so ``millicent --help`` stays fast.
"""
