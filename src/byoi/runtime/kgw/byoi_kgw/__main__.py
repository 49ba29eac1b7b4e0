from byoi_kgw import main

main()
