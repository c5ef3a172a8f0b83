'use client';

import { useEffect, useState } from 'react';
import { stretchRgbaInPlace } from '@/lib/review/contrast';
import { itemImageUrl } from './review-api';

/**
 * An item's 28x28 image, scaled with hard edges; with `contrast`, its gray levels stretched to
 * black..white in the browser (the stored pixels never change). A plain <img>: next/image would
 * resample the PNG.
 */
export function ItemImage({
  itemId,
  contrast,
  alt,
  className = '',
}: {
  itemId: number;
  contrast: boolean;
  alt: string;
  className?: string;
}) {
  const url = itemImageUrl(itemId);
  const [stretched, setStretched] = useState<{ url: string; src: string } | null>(null);
  useEffect(() => {
    if (!contrast) return;
    let cancelled = false;
    const image = new Image();
    image.onload = () => {
      if (cancelled) return;
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      if (!context) return;
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height);
      stretchRgbaInPlace(data.data);
      context.putImageData(data, 0, 0);
      setStretched({ url, src: canvas.toDataURL('image/png') });
    };
    image.src = url;
    return () => {
      cancelled = true;
    };
  }, [contrast, url]);
  const src = contrast && stretched?.url === url ? stretched.src : url;
  return (
    <img
      src={src}
      alt={alt}
      data-contrast={contrast && stretched?.url === url ? 'stretched' : 'original'}
      className={`pixelated ${className}`}
      draggable={false}
    />
  );
}
