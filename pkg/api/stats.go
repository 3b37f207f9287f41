package api

import (
	"strconv"

	"github.com/skald-logs/skald/pkg/logql"
)

// appendStats appends Loki's full "stats" object (the shape of Loki 3.7's
// stats.Result, every key in Loki's order) filled from our numbers, with
// zeros where Skald measures nothing comparable:
//
//   - summary: totals, exec time, per-second rates derived from them;
//   - querier.store: chunk refs and downloads, decompressed and compressed
//     bytes and lines, post-filter lines (the store side of a query);
//   - ingester: ingesters reached, head-chunk bytes and lines (the recent
//     data ingesters answer from memory);
//   - cache and index: zeros, except index.totalChunks = chunk refs.
func appendStats(dst []byte, st *logql.Stats) []byte {
	var bytesPerSec, linesPerSec int64
	if st.ExecTimeSeconds > 0 {
		bytesPerSec = int64(float64(st.TotalBytesProcessed) / st.ExecTimeSeconds)
		linesPerSec = int64(float64(st.TotalLinesProcessed) / st.ExecTimeSeconds)
	}
	dst = append(dst, `{"summary":{"bytesProcessedPerSecond":`...)
	dst = strconv.AppendInt(dst, bytesPerSec, 10)
	dst = append(dst, `,"linesProcessedPerSecond":`...)
	dst = strconv.AppendInt(dst, linesPerSec, 10)
	dst = append(dst, `,"totalBytesProcessed":`...)
	dst = strconv.AppendInt(dst, st.TotalBytesProcessed, 10)
	dst = append(dst, `,"totalLinesProcessed":`...)
	dst = strconv.AppendInt(dst, st.TotalLinesProcessed, 10)
	dst = append(dst, `,"execTime":`...)
	dst = appendFloat(dst, st.ExecTimeSeconds)
	dst = append(dst, `,"queueTime":0,"subqueries":0,"totalEntriesReturned":`...)
	dst = strconv.AppendInt(dst, st.TotalEntriesReturned, 10)
	dst = append(dst, `,"splits":0,"shards":0,"totalPostFilterLines":`...)
	dst = strconv.AppendInt(dst, st.PostFilterLines, 10)
	dst = append(dst, `,"totalStructuredMetadataBytesProcessed":`...)
	dst = strconv.AppendInt(dst, st.StructuredMetaBytes, 10)

	dst = append(dst, `},"querier":{"store":`...)
	dst = appendStoreStats(dst, storeStats{
		chunksRef:         st.ChunksRef,
		chunksDownloaded:  st.ChunksDownloaded,
		decompressedBytes: st.DecompressedBytes,
		decompressedLines: st.DecompressedLines,
		compressedBytes:   st.ChunkCompressedBytes,
		postFilterLines:   st.PostFilterLines,
	})
	dst = append(dst, `,"querierExecTime":`...)
	dst = appendFloat(dst, st.ExecTimeSeconds)

	dst = append(dst, `},"ingester":{"totalReached":`...)
	dst = strconv.AppendInt(dst, st.IngestersReached, 10)
	dst = append(dst, `,"totalChunksMatched":0,"totalBatches":0,"totalLinesSent":0,"store":`...)
	dst = appendStoreStats(dst, storeStats{
		headChunkBytes: st.HeadChunkBytes,
		headChunkLines: st.HeadChunkLines,
	})
	dst = append(dst, `,"recvWaitTime":0},"cache":`...)
	dst = append(dst, zeroCacheStats...)
	dst = append(dst, `,"index":{"totalChunks":`...)
	dst = strconv.AppendInt(dst, st.ChunksRef, 10)
	return append(dst, `,"postFilterChunks":0,"shardsDuration":0,"usedBloomFilters":false,"totalStreams":0,"chunkRefsLookupTime":0,"bloomFilterTime":0}}`...)
}

// storeStats are the numbers of one "store" object (querier or ingester).
type storeStats struct {
	chunksRef, chunksDownloaded          int64
	headChunkBytes, headChunkLines       int64
	decompressedBytes, decompressedLines int64
	compressedBytes, postFilterLines     int64
}

func appendStoreStats(dst []byte, s storeStats) []byte {
	dst = append(dst, `{"totalChunksRef":`...)
	dst = strconv.AppendInt(dst, s.chunksRef, 10)
	dst = append(dst, `,"totalChunksDownloaded":`...)
	dst = strconv.AppendInt(dst, s.chunksDownloaded, 10)
	dst = append(dst, `,"chunksDownloadTime":0,"queryReferencedStructuredMetadata":false,"queryUsedV2Engine":false,"chunk":{"headChunkBytes":`...)
	dst = strconv.AppendInt(dst, s.headChunkBytes, 10)
	dst = append(dst, `,"headChunkLines":`...)
	dst = strconv.AppendInt(dst, s.headChunkLines, 10)
	dst = append(dst, `,"decompressedBytes":`...)
	dst = strconv.AppendInt(dst, s.decompressedBytes, 10)
	dst = append(dst, `,"decompressedLines":`...)
	dst = strconv.AppendInt(dst, s.decompressedLines, 10)
	dst = append(dst, `,"compressedBytes":`...)
	dst = strconv.AppendInt(dst, s.compressedBytes, 10)
	dst = append(dst, `,"totalDuplicates":0,"postFilterLines":`...)
	dst = strconv.AppendInt(dst, s.postFilterLines, 10)
	dst = append(dst, `,"headChunkStructuredMetadataBytes":0,"decompressedStructuredMetadataBytes":0},"chunkRefsFetchTime":0,"congestionControlLatency":0,"pipelineWrapperFilteredLines":0,"dataobj":`...)
	return append(dst, zeroDataObjStats...)
}

const zeroDataObjStats = `{"prePredicateDecompressedRows":0,"prePredicateDecompressedBytes":0,` +
	`"prePredicateDecompressedStructuredMetadataBytes":0,"postPredicateRows":0,"postPredicateDecompressedBytes":0,` +
	`"postPredicateStructuredMetadataBytes":0,"postFilterRows":0,"pagesScanned":0,"pagesDownloaded":0,` +
	`"pagesDownloadedBytes":0,"pageBatches":0,"totalRowsAvailable":0,"totalPageDownloadTime":0}}`

const zeroCache = `{"entriesFound":0,"entriesRequested":0,"entriesStored":0,"bytesReceived":0,"bytesSent":0,"requests":0,"downloadTime":0,"queryLengthServed":0}`

const zeroCacheStats = `{"chunk":` + zeroCache + `,"index":` + zeroCache + `,"result":` + zeroCache +
	`,"statsResult":` + zeroCache + `,"volumeResult":` + zeroCache + `,"seriesResult":` + zeroCache +
	`,"labelResult":` + zeroCache + `,"instantMetricResult":` + zeroCache + `}`
