"""newswire's moving parts: feed reader, Kafka IO for Beam, pipeline assembly, embedded
broker and the command line."""

__version__ = "0.1.0"
