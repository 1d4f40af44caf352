from sipai.cli.main import main

main()
