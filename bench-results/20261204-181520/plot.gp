set terminal svg size 1000,560 dynamic background rgb 'white'
set output 'plot.svg'
set title 'qlaunch bench: guest as % of host (sysbench medians, side by side)'
set datafile missing '-'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'guest / host (%)'
set grid ytics
set xtics nomirror font ',9'
set key outside top
set logscale y
set yrange [0.5:200]
plot 'plot.dat' using 2:xtic(1) title 'tiny (tcg)'
