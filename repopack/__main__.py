from repopack.cli import main

main()
