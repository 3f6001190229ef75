from bounce_stream.cli import main

# The guard matters: parse worker processes (forkserver) import the main module again.
if __name__ == "__main__":
    main()
