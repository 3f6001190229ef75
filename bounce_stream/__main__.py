from bounce_stream.cli import main

main()
