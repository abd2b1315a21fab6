@_exported import CramfsFormat
