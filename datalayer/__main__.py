from datalayer.cli import main

main()
