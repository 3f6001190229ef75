from bounce_stream.detection import ParseResult
def noop(raw, options): return ParseResult()
