from byoi.cli import main

main()
