import Cramfs
